package draft

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
)

func TestValueAccessors(t *testing.T) {
	var zero Value
	if zero.IsValid() || zero.Kind() != Invalid || zero.Len() != 0 || zero.String() != "null" {
		t.Fatal("zero value")
	}
	if Null().IsValid() != true || !Null().IsNull() || Null().Equal(zero) {
		t.Fatal("null is present and differs from absent")
	}
	if b, ok := Bool(true).AsBool(); !b || !ok {
		t.Fatal("bool")
	}
	if i, ok := Int(-3).AsInt(); i != -3 || !ok {
		t.Fatal("int")
	}
	if f, ok := Int(2).AsFloat(); f != 2 || !ok {
		t.Fatal("int as float")
	}
	if f, ok := Float(2.5).AsFloat(); f != 2.5 || !ok {
		t.Fatal("float")
	}
	if _, ok := Float(1).AsInt(); ok {
		t.Fatal("float is not int")
	}
	if s, ok := String("hé").AsString(); s != "hé" || !ok || String("hé").Len() != 3 {
		t.Fatal("string")
	}
	if _, ok := Bytes([]byte("x")).AsString(); ok {
		t.Fatal("bytes are not a string")
	}
	src := []byte("ab")
	bv := Bytes(src)
	src[0] = 'z'
	got, _ := bv.AsBytes()
	got[1] = 'z'
	if again, _ := bv.AsBytes(); string(again) != "ab" {
		t.Fatal("bytes not copied")
	}
	if Int(1).Equal(Float(1)) || !Float(0).Equal(Float(math.Copysign(0, -1))) {
		t.Fatal("equal kinds")
	}
	for k := Invalid; k <= ListKind; k++ {
		if k.String() == "kind(?)" {
			t.Fatal("kind name")
		}
	}
	m := MapOf(map[string]Value{"b": Int(2), "a": Int(1), "skip": {}})
	if m.Len() != 2 || !m.Has("a") || m.Has("skip") || slices.Collect(m.Keys())[0] != "a" {
		t.Fatal("map")
	}
	if _, ok := m.Index(0); ok {
		t.Fatal("index on a map")
	}
	l := ListOf(Int(1), Value{}, String("x"))
	if x, _ := l.Index(1); !x.IsNull() || l.Len() != 3 {
		t.Fatal("list stores null for absent")
	}
	if _, ok := l.Index(3); ok {
		t.Fatal("index out of range")
	}
	if _, ok := l.Get("a"); ok {
		t.Fatal("get on a list")
	}
	nested := MapOf(map[string]Value{"l": l})
	if x, ok := nested.At(P("l", 2)); !ok || x.String() != `"x"` {
		t.Fatal("At")
	}
	if _, ok := nested.At(P("l", "x")); ok {
		t.Fatal("At with a key in a list")
	}
}

func TestValuePersistentEdits(t *testing.T) {
	m := MapOf(map[string]Value{"a": Int(1)})
	m2, err := m.With("b", Int(2))
	if err != nil || m.Len() != 1 || m2.Len() != 2 {
		t.Fatal("With")
	}
	if m3, _ := m2.With("b", Value{}); m3.Has("b") {
		t.Fatal("With invalid deletes")
	}
	if m.Without("zz").Same(m) != true || m2.Without("a").Len() != 1 {
		t.Fatal("Without")
	}
	if _, err := Int(1).With("a", Int(1)); !errors.Is(err, ErrWrongType) {
		t.Fatal("With on scalar")
	}
	l := ListOf(Int(0), Int(1))
	l2, err := l.Insert(1, Int(5), Int(6))
	if err != nil || l2.String() != "[0,5,6,1]" || l.String() != "[0,1]" {
		t.Fatalf("Insert %v", l2)
	}
	l3, err := l2.RemoveRange(0, 2)
	if err != nil || l3.String() != "[6,1]" {
		t.Fatal("RemoveRange")
	}
	l4, err := l3.SetIndex(1, String("x"))
	if err != nil || l4.String() != `[6,"x"]` {
		t.Fatal("SetIndex")
	}
	for _, err := range []error{
		func() error { _, err := l.Insert(3, Int(1)); return err }(),
		func() error { _, err := l.RemoveRange(1, 2); return err }(),
		func() error { _, err := l.SetIndex(2, Int(1)); return err }(),
	} {
		if !errors.Is(err, ErrIndexRange) {
			t.Fatalf("range error: %v", err)
		}
	}
	for _, err := range []error{
		func() error { _, err := m.Insert(0, Int(1)); return err }(),
		func() error { _, err := m.RemoveRange(0, 1); return err }(),
		func() error { _, err := m.SetIndex(0, Int(1)); return err }(),
	} {
		if !errors.Is(err, ErrWrongType) {
			t.Fatalf("type error: %v", err)
		}
	}
}

func TestFromGoToGo(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	in := map[string]any{
		"nil": nil, "b": true, "i": 3, "i8": int8(-1), "u": uint16(7), "f": 1.5, "f32": float32(0.5),
		"s": "x", "bytes": []byte("y"), "list": []any{1, "a"}, "ints": []int{1, 2},
		"m": map[string]int{"k": 1}, "struct": inner{N: 4}, "ptr": (*inner)(nil), "v": Int(9),
	}
	v, err := FromGo(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"b":true,"bytes":"eQ==","f":1.5,"f32":0.5,"i":3,"i8":-1,"ints":[1,2],"list":[1,"a"],"m":{"k":1},"nil":null,"ptr":null,"s":"x","struct":{"n":4},"u":7,"v":9}`
	if v.String() != want {
		t.Fatalf("FromGo %v", v)
	}
	back := v.ToGo().(map[string]any)
	if back["i"] != int64(3) || back["f"] != 1.5 || !reflect.DeepEqual(back["list"], []any{int64(1), "a"}) {
		t.Fatalf("ToGo %#v", back)
	}
	if _, err := FromGo(uint64(math.MaxUint64)); !errors.Is(err, ErrBadValue) {
		t.Fatal("uint64 overflow")
	}
	if _, err := FromGo(make(chan int)); !errors.Is(err, ErrBadValue) {
		t.Fatal("channel")
	}
	if _, err := Float(math.NaN()).MarshalJSON(); !errors.Is(err, ErrBadValue) {
		t.Fatal("NaN")
	}
}

func TestDraftSubDrafts(t *testing.T) {
	base := parse(t, `{"m":{"n":1,"l":[{"x":1},[1],5]}}`)
	next, fwd, inv, err := Produce(base, func(d *Draft) error {
		m := d.Map("m")
		if !m.Has("n") || m.Len() != 2 || m.Path().String() != "/m" {
			t.Error("map draft reads")
		}
		l := m.List("l")
		if l.Len() != 3 || l.Path().String() != "/m/l" {
			t.Error("list draft reads")
		}
		if v, ok := l.Get(2); !ok || v.String() != "5" {
			t.Error("list get")
		}
		steps := []error{
			l.Map(0).Set("y", Int(2)),
			l.List(1).Append(Int(2)),
			l.Increment(2, Float(0.5)),
			l.Set(2, Int(7)),
			d.Increment(P("m", "n"), Int(-1)),
			d.Insert(P("m", "l", End()), String("end")),
			d.Append(P("m", "l"), String("end2")),
			d.RemoveRange(P("m", "l"), 3, 1),
			d.Move(P("m", "l"), 0, 1),
			d.Delete(P("m", "l", 2)),
			d.MapAt(P("m")).Set("z", Null()),
			d.ListAt(P("m", "l")).Delete(0),
		}
		for i, err := range steps {
			if err != nil {
				t.Errorf("step %d: %v", i, err)
			}
		}
		if v := l.Value(); v.String() != `[{"x":1,"y":2},"end2"]` {
			t.Errorf("list value %v", v)
		}
		if o := l.Original(); o.Len() != 3 {
			t.Error("original")
		}
		if v := m.Value(); v.Len() != 3 {
			t.Error("map value")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next.String() != `{"m":{"l":[{"x":1,"y":2},"end2"],"n":0,"z":null}}` {
		t.Fatalf("next %v", next)
	}
	checkRoundTrip(t, base, next, fwd, inv)
}

func TestRootListDraft(t *testing.T) {
	next, fwd, _, err := Produce(ListOf(Int(1)), func(d *Draft) error {
		return d.RootList().Append(Int(2))
	})
	if err != nil || next.String() != "[1,2]" || jsonOf(fwd) != `[{"op":"add","path":"/1","value":2}]` {
		t.Fatalf("%v %v %s", err, next, jsonOf(fwd))
	}
}

func TestRecipePanicLeavesBase(t *testing.T) {
	base := parse(t, `{"a":1}`)
	var d0 *Draft
	func() {
		defer func() { _ = recover() }()
		_, _, _, _ = Produce(base, func(d *Draft) error {
			d0 = d
			_ = d.Root().Set("a", Int(2))
			panic("boom")
		})
	}()
	if base.String() != `{"a":1}` {
		t.Fatal("base changed")
	}
	if err := d0.Root().Set("b", Int(1)); !errors.Is(err, ErrFinished) {
		t.Fatalf("draft after panic: %v", err)
	}
}

// TestConcurrentReaders shares one published state between goroutines
// that read it while others produce from it (run under -race).
func TestConcurrentReaders(t *testing.T) {
	base := parse(t, `{"m":{"a":[1,2,3]},"n":1}`)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				next, _, _, err := Produce(base, func(d *Draft) error {
					return d.Map("m").List("a").Append(Int(int64(g*1000 + i)))
				})
				if err != nil || next.Len() != 2 || base.String() != `{"m":{"a":[1,2,3]},"n":1}` {
					t.Error("concurrent produce")
					return
				}
			}
		}()
	}
	wg.Wait()
}
