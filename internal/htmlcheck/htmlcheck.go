// Package htmlcheck finds what would keep a generated HTML report from
// working offline, and charts that are missing or empty. Tests use it.
package htmlcheck

import (
	"fmt"
	"regexp"
	"strings"
)

var fetches = []*regexp.Regexp{
	regexp.MustCompile(`<script`),
	regexp.MustCompile(`<link`),
	regexp.MustCompile(`<iframe`),
	regexp.MustCompile(`@import`),
	regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`),
	regexp.MustCompile(`url\(["']?(https?:)?//`),
}

var sources = regexp.MustCompile(`src="([^"]*)"`)

// SelfContained lists what in the page could fetch something: scripts,
// stylesheet links, frames, imports, and sources that are not data URIs.
func SelfContained(html string) []string {
	var problems []string
	for _, re := range fetches {
		if m := re.FindString(html); m != "" {
			problems = append(problems, fmt.Sprintf("fetches something: %q", m))
		}
	}
	for _, m := range sources.FindAllStringSubmatch(html, -1) {
		if !strings.HasPrefix(m[1], "data:") {
			problems = append(problems, fmt.Sprintf("source %.40q is not a data URI", m[1]))
		}
	}
	return problems
}

// Charts lists the charts, by figure id, that are missing or draw nothing: a
// chart is a <figure id="..."> holding an inline SVG with at least minPaths
// paths.
func Charts(html string, ids []string, minPaths int) []string {
	var problems []string
	for _, id := range ids {
		i := strings.Index(html, `<figure id="`+id+`">`)
		if i < 0 {
			problems = append(problems, "chart "+id+" is missing")
			continue
		}
		fig := html[i:]
		if j := strings.Index(fig, "</figure>"); j >= 0 {
			fig = fig[:j]
		}
		if n := strings.Count(fig, "<path"); !strings.Contains(fig, "<svg") || n < minPaths {
			problems = append(problems, fmt.Sprintf("chart %s draws nothing (%d paths)", id, n))
		}
	}
	return problems
}
