package store

const crashChildEnv = "STORE_CRASH_CHILD"

func crashChild() int { return 0 }
