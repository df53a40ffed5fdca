package main

import "context"

func clientCmd(ctx context.Context, e *env, name string, args []string) error {
	return usagef("not built yet")
}
