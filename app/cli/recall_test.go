package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlabs/cairn/memory"
)

// An imported ChatGPT export is found by `cairn conversations search` at
// once, without --extract.
func TestConversationsSearchFindsImportedMessages(t *testing.T) {
	home := newHome(t)
	fixture := filepath.Join("..", "..", "memory", "importers", "testdata", "chatgpt_conversations.json")
	ok(t, cairn(t, home, withPass, "import", fixture), "import")
	r := ok(t, cairn(t, home, withPass, "conversations", "search", "urban heat islands"), "search")
	if !strings.Contains(r.stdout, "Outline my thesis on urban heat islands.") || !strings.Contains(r.stdout, "Broken links: thesis outline") || !strings.Contains(r.stdout, "2024-07-03") {
		t.Fatalf("search output lacks the message, its conversation or its date:\n%s", r.stdout)
	}
	found := jsonLines[memory.MessageResult](t, ok(t, cairn(t, home, withPass, "conversations", "search", "tree canopy", "--json"), "search --json").stdout)
	if len(found) == 0 || found[0].Message.Content != "Add a chapter on tree canopy." || found[0].ConversationTitle != "Broken links: thesis outline" ||
		found[0].Before == nil || found[0].After == nil || found[0].After.Content != "4. Tree canopy as mitigation." {
		t.Fatalf("--json: %+v", found)
	}
	if r := ok(t, cairn(t, home, withPass, "conversations", "search", "heat", "--until", "2024-01-01"), "until"); !strings.Contains(r.stderr, "No messages match.") {
		t.Fatalf("--until before the conversation: %+v", r)
	}
	if r := cairn(t, home, withPass, "conversations", "search", "heat", "--since", "last week"); r.code == 0 || !strings.Contains(r.stderr, "is not a date") {
		t.Fatalf("a bad --since is not refused clearly: %+v", r)
	}
}
