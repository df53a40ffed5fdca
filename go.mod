module github.com/syncmesh/syncmesh

go 1.26
