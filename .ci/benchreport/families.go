package main

// describe says, for each benchmark family (the name's first element,
// without "Benchmark"), what it measures. A family missing here still gets
// its table; adding one is one line.
var describe = map[string]string{
	"Search": "One memory search (limit 10) in a vault of N memories with 768-dimension embeddings, " +
		"including decrypting and ranking the results: keyword (BM25 over the blind index), vector " +
		"(int8 scan, exact rescoring) and hybrid (both, fused). `vault-MB` is the vault file's size.",
	"VectorScan": "The vector index on its own: **int8** is the int8 dot product with every stored vector; " +
		"**plain** reads the same bytes with `bytes.IndexByte` (memory speed, the floor for anything " +
		"that looks at every vector); **nearest** is the candidate search vector search uses (above " +
		"20,000 vectors a sign-bit pass first, then int8 on its best 1,000).",
	"TextScan": "A plain read of every memory's text held decrypted in memory (what grep over the " +
		"plaintext would cost, with no index): the floor keyword search is compared with.",
	"Recall": "Recall@10 of the vault's vector search against exact float32 search over the same seeded " +
		"corpus (1,000 clusters), over `queries` queries of each set (the 1M tier samples fewer): **near** " +
		"queries are perturbed like the stored vectors around a cluster's centre, **between** ones around the " +
		"midpoint of two centres, **random** ones fresh random directions (near no cluster, so the top 10 win " +
		"by small margins and sign bits say least).",
	"Peers": "The vector stores a person could pick instead, on the benchmark vault's own seeded vectors (768 " +
		"dimensions), in the same process and run, one core, top 10 (memory/peerbench_test.go): **cairn** is the " +
		"vault's vector search as BenchmarkSearch runs it (decrypting the results included); **sqlite-vec** v0.1.6 " +
		"through its cgo Go bindings, vec0 tables of float, int8 (`vec_quantize_int8 'unit'`) and bit " +
		"(`vec_quantize_binary`) vectors, and **bit-rescore** (the bit table's 8 × k nearest reordered by " +
		"`vec_distance_cosine` over a float32 table), in a SQLite file, inserted in transactions of 5,000; " +
		"**chromem-go** v0.7.0 in memory; floors: **exact-float32** (every float32 vector scored in Go) and " +
		"**plain-int8-read** (a read of the int8 copy at memory speed, finding nothing). Recall@10 against exact " +
		"search on 10 queries of each set (see Recall). `MB`: the file for sqlite-vec, the Go heap grown for " +
		"chromem-go, the in-memory index for cairn (its sealed vectors are in the vault file), the vectors for the " +
		"floors. Build rate: vectors stored a second; Cairn's is EmbedAll on 10,000 memories of a fresh vault (each " +
		"vector sealed as float32 and int8, committed a batch of 32 at a time, indexed). The 1M tier is " +
		"`make bench-peers-1m`.",
	"Retrieval": "Keyword search on a synthetic corpus with known answers (memory/retrieval_test.go): " +
		"personal facts, near misses and everyday notes; each question has one right memory. " +
		"**inflected** questions reuse the fact's words in another form (lives/live, ran/running, no " +
		"accents), **paraphrase** ones use other words. recall@k: the right memory is in the first k; " +
		"MRR@10: mean of 1/rank.",
	"RecallQuality": "Finding the evidence message of a question in generated multi-session conversations " +
		"(agent/recallbench_gen_test.go: 3 seeds × 48 sessions over 8 months, two speakers, facts planted once and " +
		"often as a short reply, later updates, distractors sharing words, questions naming a month): " +
		"**bm25-turn** is plain BM25 over single turns (the baseline, same run), **cairn-keyword** is message " +
		"search over passages with their neighbouring turns as context, **cairn-keyword-time** adds the " +
		"question's time expression as chat applies it, **cairn-keyword-2hop** is the two-hop search chat runs (a second " +
		"search with the best message's new words and the question's unanswered ones; agent/recallhop.go); **cairn-vector**, " +
		"**cairn-hybrid** and **cairn-hybrid-2hop** search passage embeddings of the deterministic test embedder (feature " +
		"hashing of words, 256 dimensions: no language model), alone and fused with keywords by reciprocal rank; " +
		"**cairn-hybrid** in one hop is what chat runs while message vectors serve (two hops keyword without them). " +
		"CAIRN_RECALL_SEEDS=4-6 measures the hold-out seeds. R@k: share of evidence messages in the first k; MRR: 1/rank of the first.",
	"MessageSearch": "One message search (limit 10, keyword) in a vault of 100,000 messages (2,000 " +
		"conversations of 50, Zipf-distributed words) indexed as passages with their neighbouring turns: " +
		"**plain** and **with-neighbours** are the whole search for two mid-frequency words; " +
		"**with-neighbours/common**, **/rare** and **/mixed** for two or three of the 50 commonest words, " +
		"two rare ones, and two common with a rare one; **candidates-any** and **candidates-planned** the " +
		"keyword candidates alone, FTS5 ranking every row holding any term against the planner " +
		"(memory/keywordplan.go). Target: whole search p95 <= 20 ms.",
	"SearchZipf": "Memory search (limit 10) on a corpus whose words follow a natural distribution (Zipf " +
		"exponent 1 over 50,000 words: the commonest is in most memories), by query: **common** (two or " +
		"three of the 50 commonest words), **rare** (two ranked 1,000th or lower), **mixed** (two common, " +
		"one rare). make bench's own corpus hides what common words cost. Targets at 100k: keyword p95 " +
		"<= 5 ms, hybrid p95 <= 10 ms.",
	"EmbedMessages": "Background embedding of every message of a vault of 100,000 (2,000 conversations of 50, 100 to " +
		"2,000 characters each) with the deterministic test embedder at 768 dimensions (EmbedPassages, from none embedded " +
		"to all): each passage's vector sealed as float32 and int8, stored 256 messages a transaction and put into the " +
		"in-memory index. `embed-share` is the part of the time spent in the embedder (feature hashing, far faster than a " +
		"model); the rest is Cairn's, which a real model's time adds to. `MB-stored` is what the vault grew by.",
	"Unlock": "Opening and unlocking a vault (Argon2id, 64 MiB, 3 passes, 4 lanes) plus building the " +
		"in-memory index from the sealed embeddings; **kdf-only** is the Argon2id step alone.",
	"Apply": "The apply path that sync, import and local writes share: records of another device merged " +
		"into a vault that holds N (half memories, half messages, each message replying to the one before in " +
		"its conversation), 500 to a transaction, each committed " +
		"with fsync, blind index written and new memories queued for embedding. **sealed** is what sync " +
		"applies (ApplyBatch), **plain** what import applies (ApplyPlain, sealing each record first). " +
		"`cpu-µs/record` is the process's CPU time a record: on a shared machine the rate follows the " +
		"load, the CPU time the code. Target: 30,000 records/s.",
	"EmbedStore": "The build rate of the embedding index: memories that arrived without a vector (sync, " +
		"import) embedded by Refresh with a stand-in embedder (a fixed pool of 768-dimension vectors, so " +
		"the vault is measured, not a model) and stored sealed twice (float32 and int8), committed with " +
		"fsync, 5,000 a run into a vault of N. **rows=32** is the commit per embedder call of before, " +
		"**rows=2048** the batching now, same run. `s/100k` is the time 100,000 would take (target: under 3 s).",
	"ImportChatGPT": "A ChatGPT export of 100,000 messages (2,500 conversations of 40, texts of 20 to 200 " +
		"Zipf-distributed words, each message replying to the one before) imported into a fresh vault as " +
		"`cairn import` runs it: parsing, sealing, the passage index, fsync'd batches (target: under 5 s); " +
		"`cpu-s/import` is the process's CPU time for it.",
	"Add": "Adding one memory (sealed, indexed, embedded, committed with fsync) to a vault of N.",
	"Messages": "Chat history in a vault of 10,000 messages (100 conversations): listing conversations " +
		"(cold: the first listing after unlock, which opens every message), reading one conversation, " +
		"and searching messages.",
	"ChatOverhead": "What Cairn adds before the first token of a reply: storing the message, retrieving " +
		"memories from a vault of 10,000 and assembling the prompt, against the same request sent to " +
		"the same Ollama directly (tiny model, so the model's own time is small). **cold** is a turn sent " +
		"as typed; **prepared** one the UI warmed with the draft while the person typed " +
		"(`POST /api/v1/chat/prepare`, untimed: it ran before Send), so its query embedding is ready.",
	"RecallOverhead": "What recalling past messages adds to a turn's retrieval, in the chat benchmark's vault " +
		"(10,000 memories, about 8,000 messages): memory-only retrieval against memories plus passages plus " +
		"the second hop (agent/recall.go, recallhop.go), the same questions in the same run, the query " +
		"embedding warmed for both; `ratio-p50` is the second over the first.",
	"ConcurrentWrites": "64 writers add memories for 3 seconds while 8 readers search (keyword), each write " +
		"committed alone as before (**each**: every waiting writer holds a pooled connection in SQLite's busy " +
		"handler and pays its own fsync) against this process's writers sharing commits (**group**, " +
		"memory/groupcommit.go), in one run.",
	"APILoad": "200 HTTP clients search and add (one add in three) for 30 seconds over loopback " +
		"against a vault of 10,000 memories: p50/p99 of each kind of request and throughput.",
	"OpenAIFindHistory": "Finding the conversation an OpenAI-compatible request continues (hit) or " +
		"learning it continues none (miss).",
	"SyncConverge": "A newly paired device with an empty vault catching up with N memories on loopback " +
		"(libp2p: TCP, Noise, yamux), from pairing to the last record stored and indexed; `sync/raw` " +
		"is its throughput against the same bytes over one raw libp2p stream in the same run " +
		"(targets: 10k under 1 s, 100k under 8 s). `cpu-s` is the process's CPU time a catch-up (both " +
		"devices run in it): on a shared machine the wall clock follows the load, the CPU time the code.",
	"SyncEditBytes": "Bytes on the wire, both ways and all framing (Noise, yamux, sync frames, acks), for " +
		"one edit of a 200-character memory between two connected devices with 768-dimension " +
		"embeddings configured (embeddings never travel).",
	"InferThroughDevice": "A streamed chat (tiny model, 128 tokens) with another device's Ollama over " +
		"`/cairn/infer/1.0.0` on loopback (**paired**: a direct libp2p connection; **relay**: through a " +
		"circuit relay v2) against the same Ollama called directly (**direct**). A round is one chat of each, " +
		"in an order that rotates, so load falls on all three alike (at least 12 rounds; ns/op is a round); each " +
		"path is compared with the direct chat of its own round: `added-ms` is the time to the first token it adds " +
		"(p50, p95), `tokens/s-ratio` its tokens/s over the direct call's (p50, and p5: its slowest rounds). " +
		"Targets: at most 5 ms added, ratio at least 0.95.",
	"SyncThroughput": "Replicating 10,000 memories (records stored and indexed on arrival) against the " +
		"same bytes over one raw libp2p stream in the same run: `sync/raw` is the ratio.",
	"Import100k": "Importing 100,000 records of Cairn JSONL (20k memories, 2k conversations of 39 messages) " +
		"into a fresh vault, 500 records a transaction: MB/s of JSONL, records/s and the Go heap's peak.",
	"Export100k": "Exporting the same 100,000 records to JSONL and to an age-encrypted bundle: MB/s of " +
		"output, records/s and the heap's peak (flat: the vault is read a page at a time).",
	"GymLoad": "50 contributors, each with its own key, sending envelopes of 20 SFT items to one gym node at once over loopback " +
		"**http** and **libp2p** (a fresh identity and Noise handshake a send): accepted `items/s`, `log-appends/s` (leaves the " +
		"transparency log grew by) and `checkpoints/s` (signed tree heads, one a receipt).",
	"GymExportParquet": "A gym's Parquet export (Hugging Face layout, TRL columns, provenance, scores) of N accepted SFT items from " +
		"1,000 contributor keys with shared task results to score: seconds, rows/s and the process's peak RSS during the export (`MB-peak-rss`).",
	"GymScores": "Scoring every key of a gym (1,000 keys, 10,000 items, 10,000 shared task results): **one-pass** reads peer agreement once " +
		"for all keys, as exports do; **per-key** calls `Record` a key, reading it each time (timed on 20 keys, given for 1,000).",
	"GymAccept": "A gym node taking envelopes of 50 SFT items, each of its own words: signature, schema, duplicate and near-duplicate (MinHash) checks, storage and the transparency log's append, one transaction an envelope.",
	"Redact":    "Redacting a 3 KB text with emails, phones, URLs, IPs, card numbers and known names.",
	"UIBundle":  "The web UI as shipped (frontend/dist): bytes, raw and gzipped.",
	"UIColdStart": "A fresh Chromium context opening the UI served by `cairn serve --ui`: first paint " +
		"(`ms-fcp`) and a usable chat screen (`ms-ready`).",
	"DesktopIdle": "The desktop window under Xvfb, idle: PSS of the app and its WebKit processes together " +
		"(`/proc/PID/smaps_rollup`), Cairn with a vault of 10,000 memories beside an empty Wails app " +
		"measured in the same run; `mapped-ms` is process start to the window mapped, `painted-ms` to " +
		"the first paint of its first screen. .ci/desktopmem runs each app 3 times and prints the medians as one line, so the table shows one run.",
}
