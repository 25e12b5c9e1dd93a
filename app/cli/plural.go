package cli

import "fmt"

// countOf says how many of a thing there are in plain English: "1 memory",
// "2 memories", "0 models".
func countOf(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %s", n, pluralOf(noun))
}

func pluralOf(noun string) string {
	switch noun {
	case "memory":
		return "memories"
	case "feedback":
		return "feedback"
	case "entry":
		return "entries"
	}
	return noun + "s"
}
