// Package imports holds only a test: it enforces the direction of imports
// between syncmesh's packages (see docs/design.md, "Package layout").
package imports
