package rules

// Automaton finds every occurrence of a fixed set of ASCII keywords in a byte
// stream in one pass, ignoring ASCII case (Aho-Corasick, compiled to a dense
// transition table so the hot loop is one table load per input byte).
type Automaton struct {
	next  []int32 // next[state<<8|byte] = state
	out   [][]int // out[state] = keyword indexes ending here (including via fail links)
	words []string
}

// NewAutomaton compiles keywords (matched case-insensitively). Empty keywords
// are ignored.
func NewAutomaton(keywords []string) *Automaton {
	type node struct {
		child map[byte]int32
		fail  int32
		out   []int
	}
	trie := []node{{child: map[byte]int32{}}}
	for i, kw := range keywords {
		if kw == "" {
			continue
		}
		s := int32(0)
		for j := 0; j < len(kw); j++ {
			c := lower(kw[j])
			n, ok := trie[s].child[c]
			if !ok {
				trie = append(trie, node{child: map[byte]int32{}})
				n = int32(len(trie) - 1)
				trie[s].child[c] = n
			}
			s = n
		}
		trie[s].out = append(trie[s].out, i)
	}

	a := &Automaton{next: make([]int32, len(trie)<<8), out: make([][]int, len(trie)), words: keywords}
	// Breadth-first: a state's fail link is final before its children need it.
	queue := make([]int32, 0, len(trie))
	for c := 0; c < 256; c++ {
		if n, ok := trie[0].child[lower(byte(c))]; ok {
			a.next[c] = n
			if !isUpper(byte(c)) { // 'A' and 'a' lead to the same child: queue it once
				queue = append(queue, n)
			}
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := trie[s].fail
		a.out[s] = append(append([]int(nil), trie[s].out...), a.out[f]...)
		for c := 0; c < 256; c++ {
			if n, ok := trie[s].child[lower(byte(c))]; ok {
				a.next[int(s)<<8|c] = n
				if !isUpper(byte(c)) {
					trie[n].fail = a.next[int(f)<<8|c]
					queue = append(queue, n)
				}
			} else {
				a.next[int(s)<<8|c] = a.next[int(f)<<8|c]
			}
		}
	}
	return a
}

// Scan calls fn with the keyword index and the end offset of every match, in
// input order. It stops early when fn returns false.
func (a *Automaton) Scan(data []byte, fn func(keyword, end int) bool) {
	s := int32(0)
	next, out := a.next, a.out
	for i, c := range data {
		s = next[int(s)<<8|int(c)]
		if len(out[s]) != 0 {
			for _, k := range out[s] {
				if !fn(k, i+1) {
					return
				}
			}
		}
	}
}

// Keyword returns the keyword with index i.
func (a *Automaton) Keyword(i int) string { return a.words[i] }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
