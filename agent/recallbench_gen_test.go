package agent

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// A seeded generator of long multi-session conversations between a person
// and an assistant, for the retrieval-quality benchmark: dozens of sessions
// over months, facts planted once and often indirectly (the answer in a
// short reply to the assistant's question), later updates that supersede
// them, distractors that share their words, and questions whose evidence
// messages are known. Nothing here is taken from a public data set.

type benchTurn struct {
	user bool
	text string
	key  string // non-empty: evidence for the questions naming this key
}

type benchSession struct {
	at    time.Time
	title string
	turns []benchTurn
}

type benchQuestion struct {
	kind     string // single, multi-hop, temporal, updated
	text     string
	evidence []string // keys of the evidence turns
}

type benchCorpus struct {
	sessions  []benchSession
	questions []benchQuestion
	now       time.Time
}

var (
	benchNames  = []string{"Rosa", "Tomas", "Ingrid", "Kofi", "Mei", "Yusuf", "Lena", "Diego", "Amara", "Pavel", "Noor", "Hugo"}
	benchPlaces = []string{"Braga", "Tromsø", "Ghent", "Oaxaca", "Kraków", "Sapporo", "Tbilisi", "Cusco", "Bergen", "Lecce", "Hobart", "Tartu"}
	benchPets   = []string{"Biscuit", "Pepper", "Mochi", "Juniper", "Waffles", "Pistachio", "Clementine", "Nugget"}
	benchJobs   = []string{"the bakery", "the library", "the bike shop", "the observatory", "the flower market", "the ferry office", "the museum café", "the pottery studio"}
	benchThings = []string{"cello", "sewing machine", "telescope", "kayak", "record player", "chess set", "easel", "accordion"}
	benchFiller = []string{
		"can you suggest a quick dinner with lentils", "how do I fix a squeaky door hinge", "what is a good stretch for a stiff back",
		"help me write an email to my landlord about the heating", "explain how compound interest works", "recommend a podcast about history",
		"my neighbour's dog barks all night, any advice", "what should I pack for a rainy weekend", "how long should I boil an egg",
		"I keep forgetting to water the plants at work", "what is the difference between a violin and a viola", "ideas for a birthday card message",
		"how do trains in Europe handle bikes", "tips for sleeping better after night shifts", "what is a nice name for a sailing boat",
		"my friend moved to a new city and feels lonely", "which museum exhibitions are good for kids", "how do I clean a cast iron pan",
	}
	benchReplies = []string{
		"Here is a simple way to approach it.", "That depends a little on your situation, but here are some options.", "Good question: a few ideas follow.",
		"Sure. Start small and adjust as you go.", "Many people find a routine helps with that.", "I would try the first suggestion and see how it feels.",
	}
)

// generateBench builds a corpus from a seed: sessions sessions over about
// months months ending at now.
func generateBench(seed uint64, sessions, months int) benchCorpus {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	start := now.AddDate(0, -months, 0)
	c := benchCorpus{now: now}
	step := now.Sub(start) / time.Duration(sessions)
	for i := range sessions {
		at := start.Add(time.Duration(i)*step + time.Duration(r.IntN(int(step/time.Hour/2)))*time.Hour)
		s := benchSession{at: at, title: fmt.Sprintf("Chat %d", i+1)}
		for range 4 + r.IntN(6) {
			s.turns = append(s.turns, benchTurn{user: true, text: benchFiller[r.IntN(len(benchFiller))]}, benchTurn{text: benchReplies[r.IntN(len(benchReplies))]})
		}
		c.sessions = append(c.sessions, s)
	}
	plant := func(session int, turns ...benchTurn) {
		s := &c.sessions[session]
		at := r.IntN(len(s.turns)/2+1) * 2
		s.turns = append(s.turns[:at], append(turns, s.turns[at:]...)...)
	}
	pick := func(list []string, used map[string]bool) string {
		for {
			x := list[r.IntN(len(list))]
			if !used[x] {
				used[x] = true
				return x
			}
		}
	}
	used := map[string]bool{}
	half := sessions / 2
	for f := 0; f < 4; f++ {
		// Single fact, stated indirectly: the pet's name is a short reply.
		pet, s := pick(benchPets, used), r.IntN(sessions)
		key := fmt.Sprintf("pet%d", f)
		kind := []string{"puppy", "kitten", "rabbit", "parrot"}[f]
		plant(s, benchTurn{user: true, text: "we finally adopted the " + kind + " from the shelter"},
			benchTurn{text: "How exciting! What did you end up calling the " + kind + "?"},
			benchTurn{user: true, text: "We went with " + pet + ".", key: key})
		// A distractor sharing the words.
		plant(r.IntN(sessions), benchTurn{user: true, text: "my cousin's " + kind + " from the shelter chewed a shoe"}, benchTurn{text: "That happens a lot with young animals."})
		c.questions = append(c.questions, benchQuestion{kind: "single", text: "what did I call the " + kind + " we adopted?", evidence: []string{key}})

		// Updated fact: a job, then a new one later.
		oldJob, newJob := pick(benchJobs, used), pick(benchJobs, used)
		name := pick(benchNames, used)
		kOld, kNew := fmt.Sprintf("job%d-old", f), fmt.Sprintf("job%d-new", f)
		plant(r.IntN(half), benchTurn{user: true, text: "my friend " + name + " started working at " + oldJob, key: kOld}, benchTurn{text: "Nice, how does " + name + " like it?"})
		plant(half+r.IntN(sessions-half), benchTurn{user: true, text: name + " quit " + oldJob + " and now works at " + newJob, key: kNew}, benchTurn{text: "A big change for " + name + "."})
		c.questions = append(c.questions, benchQuestion{kind: "updated", text: "where does " + name + " work now?", evidence: []string{kNew}})

		// Multi-hop: who gave the thing, and where that person lives.
		thing, giver, place := pick(benchThings, used), pick(benchNames, used), pick(benchPlaces, used)
		k1, k2 := fmt.Sprintf("gift%d", f), fmt.Sprintf("home%d", f)
		plant(r.IntN(sessions), benchTurn{user: true, text: "my aunt " + giver + " gave me her old " + thing, key: k1}, benchTurn{text: "What a lovely present. Do you play it often?"})
		plant(r.IntN(sessions), benchTurn{user: true, text: "visiting " + giver + " next month"}, benchTurn{text: "Where does she live these days?"}, benchTurn{user: true, text: "Still up in " + place + ", by the harbour.", key: k2})
		c.questions = append(c.questions, benchQuestion{kind: "multi-hop", text: "in which town does the aunt who gave me the " + thing + " live?", evidence: []string{k1, k2}})

		// Temporal: the same kind of event in two months; the question
		// names one of them.
		trip, other := pick(benchPlaces, used), pick(benchPlaces, used)
		s1, s2 := r.IntN(half), half+r.IntN(sessions-half)
		kt := fmt.Sprintf("trip%d", f)
		plant(s1, benchTurn{user: true, text: "back from a weekend hiking trip, the trail near " + trip + " was muddy", key: kt}, benchTurn{text: "Muddy trails are part of the fun."})
		plant(s2, benchTurn{user: true, text: "back from a weekend hiking trip, the trail near " + other + " was steep"}, benchTurn{text: "Steep ones are the most rewarding."})
		month := c.sessions[s1].at.Format("January 2006")
		c.questions = append(c.questions, benchQuestion{kind: "temporal", text: "where was the hiking trail I walked in " + month + "?", evidence: []string{kt}})
	}
	return c
}

// words of a generated turn, for the baseline.
func (c benchCorpus) String() string {
	var b strings.Builder
	for _, s := range c.sessions {
		fmt.Fprintf(&b, "%s %s\n", s.at.Format(time.DateOnly), s.title)
		for _, t := range s.turns {
			fmt.Fprintf(&b, "  %v %s [%s]\n", t.user, t.text, t.key)
		}
	}
	return b.String()
}
