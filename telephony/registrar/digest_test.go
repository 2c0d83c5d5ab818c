package registrar

import (
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	c, err := parseAuthorization(`Digest username="ann",realm="pbx.example" , nonce="n\"1", uri="sip:pbx.example", response="ABC123", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="x,y"`)
	if err != nil {
		t.Fatal(err)
	}
	if c.username != "ann" || c.realm != "pbx.example" || c.nonce != `n"1` || c.response != "abc123" || c.algorithm != SHA256 || c.nc != "00000001" || c.cnonce != "x,y" || c.qop != "auth" {
		t.Errorf("%+v", c)
	}
	for _, bad := range []string{
		`Basic YWxhZGRpbjpvcGVuc2VzYW1l`,
		`Digest username="ann", realm="r", nonce="n", uri="u"`,                               // no response
		`Digest username="ann", username="bob", realm="r", nonce="n", uri="u", response="x"`, // twice
		`Digest username="ann, realm="r", nonce="n", uri="u", response="x"`,                  // unterminated
		`Digest username="ann" realm="r"`,                                                    // no comma
		`Digest username="ann", realm="r", nonce="n", uri="u", response="x", algorithm=MD5-sess`,
		`Digest username="ann", realm="r", nonce="n", uri="u", response="x", qop=auth`, // no nc
	} {
		if _, err := parseAuthorization(bad); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}

// The digest of RFC 7616 §3.9.1's example (MD5, qop=auth).
func TestResponseRFC7616(t *testing.T) {
	c := &credentials{username: "Mufasa", realm: "http-auth@example.org", uri: "/dir/index.html", qop: "auth", nc: "00000001",
		cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", algorithm: MD5}
	got := response(MD5, HA1(MD5, "Mufasa", "http-auth@example.org", "Circle of Life"), "GET", c)
	if got != "8ca523f5e9506fed4657c9700eebdbec" {
		t.Errorf("MD5 response %s", got)
	}
	if got := response(SHA256, HA1(SHA256, "Mufasa", "http-auth@example.org", "Circle of Life"), "GET", c); got != "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1" {
		t.Errorf("SHA-256 response %s", got)
	}
}

func TestParseAlgorithms(t *testing.T) {
	a, err := ParseAlgorithms("sha-256, md5,MD5")
	if err != nil || len(a) != 2 || a[0] != SHA256 || a[1] != MD5 {
		t.Errorf("%v %v", a, err)
	}
	if _, err := ParseAlgorithms("md5,sha1"); err == nil || !strings.Contains(err.Error(), "sha1") {
		t.Errorf("sha1: %v", err)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(`Digest username="ann", realm="r", nonce="n", uri="sip:r", response="00", qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest username=ann,realm=r,nonce=n,uri=u,response=x,algorithm="SHA-256"`)
	f.Add(`Digest a="\\\"", b=`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseAuthorization(s)
		if err != nil {
			return
		}
		if c.algorithm != MD5 && c.algorithm != SHA256 {
			t.Fatalf("algorithm %q", c.algorithm)
		}
		if c.qop != "" && (c.nc == "" || c.cnonce == "") {
			t.Fatalf("qop without nc or cnonce: %+v", c)
		}
	})
}
