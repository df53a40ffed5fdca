package crdt

import (
	"fmt"
	"strings"
)

func fmtChange(c *Change) string {
	var b strings.Builder
	fmt.Fprintf(&b, "change %d/%d:", c.Replica, c.StartSeq)
	if c.Elided > 0 {
		fmt.Fprintf(&b, " gap of %d until %d at %v", c.Elided, c.Until, c.Timestamp)
	}
	for i, op := range c.Ops {
		js, _ := op.Value.MarshalJSON()
		fmt.Fprintf(&b, " [%v %s %s%s/%s=%s pred=%v ctx=%v marks=%d orig=%v]", c.ID(i), op.Kind, "", formatSegs(op.Path), op.Key, js, op.Pred, op.Ctx, len(op.Marks), op.Origins)
	}
	return b.String()
}
