package importers

import (
	"encoding/json"

	"github.com/cairnlabs/cairn/memory"
	"github.com/cairnlabs/cairn/memory/portable"
)

// PersonsMessages collects the ids of the person's own messages an import
// yields (FileOptions.Observe), for extraction to read afterwards. The ids
// come from the input, so the same file gives the same list.
type PersonsMessages struct{ IDs []string }

// Observe is a FileOptions.Observe.
func (p *PersonsMessages) Observe(e portable.Entry) {
	if e.Record == nil || e.Record.Kind != memory.KindMessage || e.Record.Deleted {
		return
	}
	var head struct {
		Role memory.Role `json:"role"`
	}
	if json.Unmarshal(e.Record.Payload, &head) == nil && head.Role == memory.RoleUser {
		p.IDs = append(p.IDs, e.Record.ID)
	}
}
