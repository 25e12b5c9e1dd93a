package memory

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

// Retrieval quality with no model: a seeded corpus of personal facts, each
// with questions a person would ask about it, among near-miss facts that
// share its words and everyday notes that share its vocabulary. Every
// question has exactly one right memory, so recall@k and MRR of keyword
// search are exact numbers, and a change to tokenising, stemming or ranking
// shows up as a change in them.
//
// Questions come in two kinds: "inflected" ones reuse the fact's words in
// another form (lives/live, ran/running, allergic/allergies, no accents,
// lower case), "paraphrase" ones say it with other words (based in, born,
// role), which keyword search can only partly find.

const retrievalSeed = 2026

// factTemplate makes one fact for each of its keys, with other slots drawn
// at random; its questions name the key, or, when there is one key, ask
// about the only such fact without naming it.
type factTemplate struct {
	keys      []string
	fact      string
	inflected []string
	paraphr   []string
}

var retrievalSlots = map[string][]string{
	"name": {"Ana", "Bruno", "Carla", "José", "Zoë", "Renée", "Björn", "Chloé", "Dmitri", "Elif", "Farid",
		"Greta", "Hiro", "Inês", "Jonas", "Kofi", "Lena", "Marta", "Nadia", "Omar", "Priya", "Quentin", "Rosa",
		"Sven", "Tomás", "Uma", "Viktor", "Wanda", "Ximena", "Yusuf", "Zainab", "Åsa", "Noémie", "Raúl"},
	"rel": {"sister", "brother", "cousin", "neighbour", "colleague", "aunt", "uncle", "boss", "nephew",
		"niece", "grandmother", "godfather"},
	"city": {"Lisbon", "Porto", "Berlin", "Kyoto", "Nairobi", "Lima", "Oslo", "Quebec", "Seville", "Hanoi",
		"Kraków", "Dublin", "Montréal", "Zürich", "Valparaíso", "Reykjavík"},
	"food":       {"peanuts", "shellfish", "strawberries", "sesame", "kiwis", "mushrooms", "walnuts", "celery", "mustard", "lupin"},
	"instrument": {"cello", "violin", "trumpet", "piano", "banjo", "harp", "saxophone", "drums", "ukulele", "flute"},
	"company":    {"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Soylent", "Wonka", "Tyrell", "Cyberdyne"},
	"job":        {"nurse", "architect", "plumber", "teacher", "accountant", "pilot", "baker", "surgeon", "journalist", "translator"},
	"animal":     {"dog", "cat", "parrot", "tortoise", "rabbit", "hamster", "ferret", "goldfish"},
	"pet":        {"Rex", "Biscuit", "Mochi", "Pepper", "Luna", "Ziggy", "Noodle", "Waffles", "Pixel", "Olive"},
	"month": {"January", "February", "March", "April", "May", "June", "July", "August", "September",
		"October", "November", "December"},
	"day":      {"1st", "3rd", "7th", "9th", "12th", "14th", "17th", "21st", "23rd", "28th"},
	"year":     {"2015", "2016", "2017", "2018", "2019", "2021", "2022", "2023"},
	"drink":    {"rooibos", "matcha", "oolong", "kombucha", "chai"},
	"medicine": {"metformin", "cetirizine", "levothyroxine", "omeprazole"},
	"item":     {"ladder", "tent", "drill", "bicycle pump", "camera", "projector", "kayak paddle", "sewing machine"},
	"hobby":    {"climbing", "kayaking", "fencing", "pottery", "knitting", "surfing", "birdwatching", "archery", "judo", "salsa"},
}

var retrievalTemplates = []factTemplate{
	{keys: retrievalSlots["rel"], fact: "My {key} {name} lives in {city} now.",
		inflected: []string{"where does my {key} live"}, paraphr: []string{"which town is my {key} based in"}},
	{keys: retrievalSlots["rel"], fact: "{name}, my {key}, has a birthday on {month} {day}.",
		inflected: []string{"when is my {key}'s birthday"}, paraphr: []string{"what date was my {key} born"}},
	{keys: retrievalSlots["food"], fact: "I'm allergic to {key}: even a trace makes me ill.",
		inflected: []string{"my {key} allergies"}, paraphr: []string{"can I eat {key}"}},
	{keys: retrievalSlots["instrument"], fact: "{name} has been playing the {key} since primary school.",
		inflected: []string{"who plays the {key}"}, paraphr: []string{"which friend is a {key} player"}},
	{keys: retrievalSlots["company"], fact: "I work as a {job} at {key}, mostly from home.",
		inflected: []string{"my work at {key}"}, paraphr: []string{"what is my role at {key}"}},
	{keys: retrievalSlots["city"], fact: "I ran the {key} marathon in {year}, in just under four hours.",
		inflected: []string{"running the {key} marathon"}, paraphr: []string{"my race time in {key}"}},
	{keys: retrievalSlots["animal"], fact: "Our {key} is called {pet} and sleeps on the sofa.",
		inflected: []string{"what is our {key} called"}, paraphr: []string{"name of our {key}"}},
	{keys: retrievalSlots["name"], fact: "{key} borrowed my {item} in {month} and still has it.",
		inflected: []string{"what did {key} borrow"}, paraphr: []string{"what does {key} owe me"}},
	{keys: retrievalSlots["hobby"], fact: "Thursday evenings are for {key} with {name}.",
		inflected: []string{"who do I go {key} with on thursday evening"}, paraphr: []string{"my {key} partner"}},
	{keys: []string{"rooibos"}, fact: "Every morning I drink {key} instead of coffee.",
		inflected: []string{"what do I drink in the mornings"}, paraphr: []string{"my usual breakfast beverage"}},
	{keys: []string{"levothyroxine"}, fact: "I take {key} twice a day with food.",
		inflected: []string{"what am I taking twice a day"}, paraphr: []string{"my daily medication"}},
}

// Near misses: facts that share a key with the ones asked about, and that
// no question asks for.
var retrievalDistractors = []factTemplate{
	{keys: retrievalSlots["food"], fact: "{name} baked a cake with {key} for the party."},
	{keys: retrievalSlots["instrument"], fact: "We heard a {key} concert in {city} last spring."},
	{keys: retrievalSlots["company"], fact: "{name} applied for a job at {key} last year."},
	{keys: retrievalSlots["city"], fact: "My {rel} flew to {key} for a conference in {month}."},
	{keys: retrievalSlots["animal"], fact: "{name} has been scared of {key}s since childhood."},
	{keys: retrievalSlots["rel"], fact: "Call my {key} about the {item} before {month}."},
	{keys: retrievalSlots["hobby"], fact: "I stopped {key} after the injury in {year}."},
	{keys: retrievalSlots["name"], fact: "{key} recommended a book about {city}."},
}

var everydayWords = strings.Fields(`the a to and of in on for with at my our about after before from
	call buy book meeting morning evening week weekend trip train flight dinner lunch breakfast coffee
	tea birthday party gift shop garden kitchen car bike work office project deadline email phone plan
	live lives lived play played playing run running ran take taking took drink drinks food eat cook
	cooked recipe movie music concert doctor dentist appointment school kids friend friends family
	house rent bill tax holiday summer winter spring autumn city town home new old good bad remember
	need want like love hate try tried start started stop finish finished pay paid ask asked tell told
	read write wrote list note idea question answer time day days month year today tomorrow yesterday`)

type retrievalCase struct {
	query  string
	answer int // index into docs
	kind   string
}

type retrievalCorpus struct {
	docs  []string
	cases []retrievalCase
}

// newRetrievalCorpus makes the facts, near misses and notes (in a seeded
// order) and the questions about the facts.
func newRetrievalCorpus(seed uint64, notes int) *retrievalCorpus {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var docs []string
	type asked struct {
		doc     int
		queries []retrievalCase
	}
	var facts []asked
	for _, t := range retrievalTemplates {
		for _, key := range t.keys {
			a := asked{doc: len(docs)}
			docs = append(docs, fill(rng, t.fact, key))
			for _, q := range t.inflected {
				a.queries = append(a.queries, retrievalCase{query: typed(strings.ReplaceAll(q, "{key}", key)), kind: "inflected"})
			}
			for _, q := range t.paraphr {
				a.queries = append(a.queries, retrievalCase{query: typed(strings.ReplaceAll(q, "{key}", key)), kind: "paraphrase"})
			}
			facts = append(facts, a)
		}
	}
	for _, t := range retrievalDistractors {
		for _, key := range t.keys {
			docs = append(docs, fill(rng, t.fact, key))
		}
	}
	vocab := slices.Clone(everydayWords)
	for _, slot := range []string{"name", "city", "food", "instrument", "company", "animal", "hobby", "drink"} {
		vocab = append(vocab, retrievalSlots[slot]...)
	}
	for range notes {
		w := make([]string, 6+rng.IntN(9))
		for i := range w {
			w[i] = pick(rng, vocab)
		}
		docs = append(docs, strings.Join(w, " "))
	}
	// Shuffle, so that where a fact lands says nothing about it.
	order := rng.Perm(len(docs))
	c := &retrievalCorpus{docs: make([]string, len(docs))}
	for from, to := range order {
		c.docs[to] = docs[from]
	}
	for _, a := range facts {
		for _, q := range a.queries {
			q.answer = order[a.doc]
			c.cases = append(c.cases, q)
		}
	}
	return c
}

func pick(rng *rand.Rand, list []string) string { return list[rng.IntN(len(list))] }

// fill puts key in {key} and a random value in every other slot.
func fill(rng *rand.Rand, pattern, key string) string {
	s := strings.ReplaceAll(pattern, "{key}", key)
	for {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			return s
		}
		end := open + strings.IndexByte(s[open:], '}')
		s = s[:open] + pick(rng, retrievalSlots[s[open+1:end]]) + s[end+1:]
	}
}

// typed is a question as people type it: lower case, no accents.
func typed(q string) string {
	return strings.ToLower(unaccent.Replace(q))
}

var unaccent = strings.NewReplacer("é", "e", "ë", "e", "ê", "e", "á", "a", "í", "i", "ó", "o", "ö", "o",
	"ú", "u", "ü", "u", "Å", "A")

// retrievalRanks searches for every question and returns the rank (1-based)
// of its answer in the first ten results, 0 when it is not there.
func retrievalRanks(ctx context.Context, v *Vault, c *retrievalCorpus, ids []string) ([]int, error) {
	ranks := make([]int, len(c.cases))
	for i, q := range c.cases {
		res, err := v.Search(ctx, Query{Text: q.query, Mode: Keyword, Limit: 10})
		if err != nil {
			return nil, fmt.Errorf("search %q: %w", q.query, err)
		}
		for r, hit := range res {
			if hit.ID == ids[q.answer] {
				ranks[i] = r + 1
				break
			}
		}
	}
	return ranks, nil
}

// retrievalVault writes the corpus into a new vault in one transaction, as
// an import would, and returns it with each document's id.
func retrievalVault(tb testing.TB, c *retrievalCorpus) (*Vault, []string) {
	ctx := context.Background()
	v, _, err := Create(ctx, Config{Path: filepath.Join(tb.TempDir(), "vault.db"), KDF: testKDF}, testPass)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { v.Close() })
	ids := make([]string, len(c.docs))
	err = v.withTx(ctx, func(tx *sql.Tx) error {
		for i, text := range c.docs {
			ids[i] = uuid.Must(uuid.NewV7()).String()
			p := itemPayload{Kind: Fact, Text: text}
			if err := v.insertNew(ctx, tx, v.keys, ids[i], KindMemory, &p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return v, ids
}

type retrievalScore struct {
	queries                         int
	recall1, recall5, recall10, mrr float64
}

func scoreRanks(ranks []int) retrievalScore {
	s := retrievalScore{queries: len(ranks)}
	for _, r := range ranks {
		if r == 0 {
			continue
		}
		s.mrr += 1 / float64(r)
		if r <= 1 {
			s.recall1++
		}
		if r <= 5 {
			s.recall5++
		}
		s.recall10++
	}
	n := float64(max(1, len(ranks)))
	s.recall1, s.recall5, s.recall10, s.mrr = s.recall1/n, s.recall5/n, s.recall10/n, s.mrr/n
	return s
}

const retrievalNotes = 3000

var retrievalOnce = sync.OnceValue(func() *retrievalCorpus { return newRetrievalCorpus(retrievalSeed, retrievalNotes) })

// BenchmarkRetrieval is keyword search's recall@1/5/10 and MRR@10 on the
// synthetic corpus, over all questions and each kind; an iteration asks
// them all.
func BenchmarkRetrieval(b *testing.B) {
	c := retrievalOnce()
	v, ids := retrievalVault(b, c)
	for _, kind := range []string{"all", "inflected", "paraphrase"} {
		sub := &retrievalCorpus{docs: c.docs}
		for _, q := range c.cases {
			if kind == "all" || q.kind == kind {
				sub.cases = append(sub.cases, q)
			}
		}
		b.Run("keyword/"+kind, func(b *testing.B) {
			var ranks []int
			for b.Loop() {
				var err error
				if ranks, err = retrievalRanks(context.Background(), v, sub, ids); err != nil {
					b.Fatal(err)
				}
			}
			s := scoreRanks(ranks)
			b.ReportMetric(s.recall1, "recall@1")
			b.ReportMetric(s.recall5, "recall@5")
			b.ReportMetric(s.recall10, "recall@10")
			b.ReportMetric(s.mrr, "MRR@10")
			b.ReportMetric(float64(s.queries), "queries")
		})
	}
}

// The corpus is the same for the same seed, every question has an answer
// among the documents, and keyword search finds it in the first ten for
// most questions that reuse the fact's words: a floor under tokenising and
// ranking (BenchmarkRetrieval reports the exact figures).
func TestRetrievalCorpus(t *testing.T) {
	c := retrievalOnce()
	again := newRetrievalCorpus(retrievalSeed, retrievalNotes)
	if !slices.Equal(c.docs, again.docs) || !slices.Equal(c.cases, again.cases) {
		t.Fatal("the same seed made two different corpora")
	}
	inflected := &retrievalCorpus{docs: c.docs}
	for _, q := range c.cases {
		if q.answer < 0 || q.answer >= len(c.docs) {
			t.Fatalf("question %q has no answer", q.query)
		}
		if q.kind == "inflected" {
			inflected.cases = append(inflected.cases, q)
		}
	}
	v, ids := retrievalVault(t, c)
	ranks, err := retrievalRanks(context.Background(), v, inflected, ids)
	if err != nil {
		t.Fatal(err)
	}
	const floor = 0.85
	if s := scoreRanks(ranks); s.recall10 < floor {
		for i, r := range ranks {
			if r == 0 {
				t.Logf("not found: %q (answer %q)", inflected.cases[i].query, c.docs[inflected.cases[i].answer])
			}
		}
		t.Fatalf("keyword search found %.0f%% of %d questions in the first ten, want at least %.0f%%", 100*s.recall10, s.queries, 100*floor)
	}
}
