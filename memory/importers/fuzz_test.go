package importers

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/cairnlabs/cairn/memory/portable"
)

// fuzzReader runs a format's reader over arbitrary bytes: it must not
// panic, and every record it yields must carry a JSON payload.
func fuzzReader(f *testing.F, read reader, seeds ...string) {
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`[{"mapping":{"a":{"parent":"a"}},"chat_messages":[{}],"chat":{"history":{"messages":{"x":{"parentId":"x"}}}}}]`))
	f.Add([]byte(`{"conversations":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l := portable.Limits{MaxDepth: 32, MaxString: 1 << 16, MaxLine: 1 << 16}
		read(context.Background(), bytes.NewReader(data), l, func(e portable.Entry) error {
			if e.Record == nil {
				return nil
			}
			if !json.Valid(e.Record.Payload) {
				t.Fatalf("record %s has a payload that is not JSON", e.Record.ID)
			}
			// What an importer makes, the vault accepts.
			if err := e.Record.Validate(); err != nil {
				t.Fatalf("record %s (%s) would be refused: %v\n%s", e.Record.ID, e.Record.Kind, err, e.Record.Payload)
			}
			return nil
		})
	})
}

func FuzzChatGPT(f *testing.F) {
	fuzzReader(f, chatGPTConversations, "testdata/chatgpt_conversations.json", "testdata/chatgpt_project.json")
}

func FuzzClaude(f *testing.F) {
	fuzzReader(f, claudeConversations, "testdata/claude_conversations.json")
}

func FuzzOpenWebUI(f *testing.F) {
	fuzzReader(f, openWebUIChats, "testdata/openwebui_chats.json")
}

// FuzzZip: a damaged or hostile archive fails with an error, never a
// panic or an unbounded read.
func FuzzZip(f *testing.F) {
	var buf bytes.Buffer
	writeZipTo(&buf, "conversations.json", []byte(`[]`))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		z, err := openZip(bytes.NewReader(data), int64(len(data)), ZipLimits{MaxEntry: 1 << 20, MaxTotal: 4 << 20})
		if err != nil {
			return
		}
		for _, zf := range jsonEntries(z.r) {
			rc, err := z.open(zf)
			if err != nil {
				continue
			}
			chatGPTConversations(context.Background(), rc, portable.Limits{MaxDepth: 32}, func(portable.Entry) error { return nil })
			rc.Close()
		}
	})
}
