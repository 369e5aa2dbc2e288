package htmlcheck

import "testing"

func TestSelfContained(t *testing.T) {
	for _, bad := range []string{`<script src="x.js"></script>`, `<img src="https://cdn/x.png">`, `<img src="x.png">`,
		`<style>@import "a.css";</style>`, `<link rel="stylesheet" href="a.css">`, `<div style="background:url(//x/y.png)">`} {
		if len(SelfContained(bad)) == 0 {
			t.Errorf("%s passed", bad)
		}
	}
	if p := SelfContained(`<img src="data:image/jpeg;base64,AAAA"><svg xmlns="http://www.w3.org/2000/svg"></svg>`); len(p) != 0 {
		t.Errorf("a self-contained page failed: %v", p)
	}
}

func TestCharts(t *testing.T) {
	html := `<figure id="a"><svg><path/><path/><path/></svg></figure><figure id="b"><svg></svg></figure>`
	if p := Charts(html, []string{"a"}, 3); len(p) != 0 {
		t.Error(p)
	}
	if p := Charts(html, []string{"a", "b", "c"}, 3); len(p) != 2 {
		t.Errorf("got %v, want b empty and c missing", p)
	}
}
