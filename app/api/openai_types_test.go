package api

import (
	"encoding/json"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

func TestParseChat(t *testing.T) {
	for _, c := range []struct {
		body    string
		text    string
		earlier int
		results int
		system  string
		ok      bool
	}{
		{`{"messages":[{"role":"user","content":"hi"}]}`, "hi", 0, 0, "", true},
		{`{"messages":[{"role":"system","content":"a"},{"role":"developer","content":"b"},{"role":"user","content":[{"type":"text","text":"x"},{"type":"text","text":"y"}]}]}`, "x\ny", 0, 0, "a\n\nb", true},
		{`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{ \"a\": 1 }"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}]}`, "", 2, 1, "", true},
		{`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}`, "", 0, 0, "", false},
		{`{"messages":[{"role":"function","content":"q"}]}`, "", 0, 0, "", false},
		{`{"messages":[{"role":"tool","tool_call_id":"c1","content":"r"}]}`, "", 0, 0, "", false},
		{`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"tool","content":"r"}]}`, "", 0, 0, "", false},
		{`{"messages":[{"role":"user","content":7}]}`, "", 0, 0, "", false},
		{`{"messages":[{"role":"user","content":"  "}]}`, "", 0, 0, "", false},
	} {
		var req oaiChatRequest
		if err := json.Unmarshal([]byte(c.body), &req); err != nil {
			t.Fatal(err)
		}
		in, err := parseChat(req)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.body, err)
			continue
		}
		if !c.ok {
			continue
		}
		if in.Text != c.text || len(in.Earlier) != c.earlier || len(in.Results) != c.results || in.System != c.system {
			t.Errorf("%s: %+v", c.body, in)
		}
		if len(in.Results) > 0 && (in.Results[0].ToolName != "f" || string(in.Earlier[1].ToolCalls[0].Arguments) != `{"a":1}`) {
			t.Errorf("%s: tool result %+v after %+v", c.body, in.Results[0], in.Earlier[1])
		}
	}
}

// FuzzParseChat feeds request bodies from outside to the parser: it must
// not panic, and what it accepts has something to answer.
func FuzzParseChat(f *testing.F) {
	f.Add(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	f.Add(`{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"x"}}]},{"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"r"}]}],"tools":[{"type":"function","function":{"name":"f"}}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req oaiChatRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		in, err := parseChat(req)
		if err != nil {
			return
		}
		if in.Text == "" && len(in.Results) == 0 {
			t.Fatalf("accepted with nothing to answer: %q", body)
		}
		for _, m := range append(in.Earlier, in.Results...) {
			if m.Role == memory.RoleSystem {
				t.Fatalf("system message in the history: %q", body)
			}
			for _, c := range m.ToolCalls {
				if !json.Valid(c.Arguments) {
					t.Fatalf("invalid arguments kept: %q", body)
				}
			}
		}
	})
}
