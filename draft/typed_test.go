package draft

import (
	"testing"
)

type todo struct {
	Title string `json:"title"`
	Done  bool   `json:"done,omitempty"`
}

type appState struct {
	Count int            `json:"count"`
	Todos []todo         `json:"todos"`
	Meta  map[string]any `json:"meta"`
}

func TestProduceTyped(t *testing.T) {
	base := appState{Count: 1, Todos: []todo{{Title: "a"}}, Meta: map[string]any{"v": 3}}
	next, fwd, inv, err := ProduceTyped(base, func(s *appState) {
		s.Count++
		s.Todos[0].Done = true
		s.Todos = append(s.Todos, todo{Title: "b"})
		s.Meta["w"] = "x"
	})
	if err != nil {
		t.Fatal(err)
	}
	if base.Count != 1 || base.Todos[0].Done || len(base.Meta) != 1 {
		t.Fatal("base modified")
	}
	want := `[{"op":"replace","path":"/count","value":2},{"op":"add","path":"/meta/w","value":"x"},` +
		`{"op":"add","path":"/todos/0/done","value":true},{"op":"add","path":"/todos/1","value":{"title":"b"}}]`
	if got := jsonOf(fwd); got != want {
		t.Fatalf("patches %s", got)
	}
	bv, _ := FromGo(base)
	nv, _ := FromGo(next)
	checkRoundTrip(t, bv, nv, fwd, inv)

	same, fwd, inv, err := ProduceTyped(base, func(s *appState) {})
	if err != nil || fwd != nil || inv != nil || same.Count != 1 {
		t.Fatalf("no-op: %v %v", err, fwd)
	}
	if _, _, _, err := ProduceTyped(map[string]any{"c": make(chan int)}, func(*map[string]any) {}); err == nil {
		t.Fatal("expected an error for a channel")
	}
}
