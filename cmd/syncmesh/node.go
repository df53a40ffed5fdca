package main

import "context"

func nodeCmd(ctx context.Context, e *env, args []string) error { return usagef("not built yet") }
