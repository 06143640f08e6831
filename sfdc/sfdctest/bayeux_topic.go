package sfdctest

import (
	"slices"
	"strings"
)

// topicMissingFields lists the fields an active PushTopic's query names
// that its object no longer has (deleted after the topic was saved); ref
// §4.2 says subscribing then fails with "Query fields {…} do not exist on
// the topic entity". It returns nil while the query still compiles.
func (s *restState) topicMissingFields(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tb := s.db.tables["PushTopic"]
	if tb == nil {
		return nil
	}
	for _, r := range tb.live() {
		if n, _ := r.vals["Name"].(string); n != name {
			continue
		}
		if _, err := s.db.compileTopic(r.vals); err == nil {
			return nil
		}
		src, _ := r.vals["Query"].(string)
		toks, err := (&lexer{src: src}).tokens()
		if err != nil {
			return nil
		}
		var obj *object
		from := -1
		for i, t := range toks {
			if t.kind == tkIdent && strings.EqualFold(t.text, "FROM") && i+1 < len(toks) {
				obj, from = s.db.object(toks[i+1].text), i+1
				break
			}
		}
		if obj == nil {
			return nil
		}
		var missing []string
		for i, t := range toks {
			if t.kind != tkIdent || i == from || reserved[strings.ToUpper(t.text)] || strings.Contains(t.text, ".") {
				continue
			}
			if obj.field(t.text) == nil && !slices.Contains(missing, t.text) {
				missing = append(missing, t.text)
			}
		}
		return missing
	}
	return nil
}
