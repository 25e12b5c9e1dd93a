package agent

import (
	"unicode"
	"unicode/utf8"
)

// Token estimates err on the high side: the prompt must fit the context
// window, or Ollama silently cuts its start, where the system prompt and
// the memories are. A real tokenizer is per model and not exposed by
// Ollama's API, so this counts what tokenizers split finely (digits,
// punctuation, non-Latin script) one by one and letters in short runs.
const (
	// lettersPerToken is the average for short words: English runs about 4
	// letters per token in Llama, Qwen and Gemma vocabularies. Long words
	// (compounds, names, jargon) split finer: longLettersPerToken.
	lettersPerToken     = 4
	longWord            = 8
	longLettersPerToken = 3
	// messageOverhead covers the chat template's role markers.
	messageOverhead = 8
)

// EstimateTokens returns a cautious token count for s.
func EstimateTokens(s string) int {
	n, letters := 0, 0
	flush := func() {
		per := lettersPerToken
		if letters > longWord {
			per = longLettersPerToken
		}
		n += (letters + per - 1) / per
		letters = 0
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r)):
			letters++
		case r == ' ':
			flush() // a space joins the next word's token
		case r < utf8.RuneSelf:
			// Digits, punctuation, newlines and tabs: usually a token each.
			flush()
			n++
		case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r):
			flush()
			n += 2 // rare ideographs fall back to bytes
		default:
			// Other scripts: about one token per character, more for
			// symbols and emoji split into bytes.
			flush()
			if unicode.IsLetter(r) || unicode.IsMark(r) {
				n++
			} else {
				n += size
			}
		}
	}
	flush()
	return n
}

// messageTokens estimates one chat message, template included.
func messageTokens(m Message) int {
	n := messageOverhead + EstimateTokens(m.Content)
	for _, tc := range m.ToolCalls {
		n += EstimateTokens(tc.Name) + EstimateTokens(string(tc.Arguments)) + messageOverhead
	}
	return n
}
