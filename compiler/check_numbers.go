package compiler

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/nyaruka/phonenumbers"

	"github.com/callflow/callflow/lang"
)

// NumberTypes are the three types of number (S13).
var NumberTypes = []string{"local", "mobile", "toll_free"}

// chinaCountryCode is refused in every direction (S29).
const chinaCountryCode = 86

// NumberInfo is what the number itself says, found with libphonenumber's
// metadata.
type NumberInfo struct {
	Region string // ISO 3166-1 alpha-2, such as "US"
	// Types lists the declared types the number can have. A North American
	// number is often both local and mobile, so both are accepted.
	Types []string
}

// ParseNumber checks that s is a valid E.164 number outside China and
// returns what it is. The error is a sentence for a diagnostic's detail.
func ParseNumber(s string) (NumberInfo, error) {
	if !isE164(s) {
		return NumberInfo{}, fmt.Errorf("%q is not in E.164 form. Write a plus sign, the country code and the national number with no spaces or punctuation, such as \"+14155550100\"", s)
	}
	num, err := phonenumbers.Parse(s, "")
	if err != nil {
		return NumberInfo{}, fmt.Errorf("%q cannot be read as a phone number: %v", s, err)
	}
	if num.GetCountryCode() == chinaCountryCode {
		return NumberInfo{Region: "CN"}, errChina
	}
	if !phonenumbers.IsValidNumber(num) {
		return NumberInfo{}, fmt.Errorf("%q is not a valid number: no country assigns numbers like it. Check the digits", s)
	}
	info := NumberInfo{Region: phonenumbers.GetRegionCodeForNumber(num)}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.FIXED_LINE:
		info.Types = []string{"local"}
	case phonenumbers.MOBILE:
		info.Types = []string{"mobile"}
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		info.Types = []string{"local", "mobile"}
	case phonenumbers.TOLL_FREE:
		info.Types = []string{"toll_free"}
	default:
		return info, fmt.Errorf("%s is a %s number. Only local, mobile and toll-free numbers can be taken on a trunk and answered by a flow (S13)", s, numberTypeWords(phonenumbers.GetNumberType(num)))
	}
	return info, nil
}

func numberTypeWords(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate"
	case phonenumbers.SHARED_COST:
		return "shared-cost"
	case phonenumbers.VOIP:
		return "VoIP"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "universal access"
	case phonenumbers.VOICEMAIL:
		return "voicemail-access"
	}
	return "unclassified"
}

var errChina = fmt.Errorf("numbers in China (+86) are not supported in any direction (S29)")

func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (c *checker) checkNumbers() {
	byE164 := map[string]*lang.Number{}
	for _, n := range c.m.Config.Numbers {
		c.checkEnum(n.Type, "number type", NumberTypes...)
		if !n.E164.Set {
			continue
		}
		if prev, ok := byE164[n.E164.Value]; ok {
			c.errorf(n.E164.Range, "Number declared twice",
				"%s is already declared as number.%s at %s. Each number is declared once; refer to it by name wherever it is used.", n.E164.Value, prev.Name, prev.NameRange)
			continue
		}
		byE164[n.E164.Value] = n
		info, err := ParseNumber(n.E164.Value)
		switch {
		case err == errChina:
			c.errorf(n.E164.Range, "Numbers in China are not supported", "%s is a Chinese number. Calls to and from China (+86) are refused by policy (S29); remove this number.", n.E164.Value)
			continue
		case err != nil:
			c.errorf(n.E164.Range, "Invalid phone number", "%s.", err)
			continue
		}
		if n.Type.Set && !slices.Contains(info.Types, n.Type.Value) && slices.Contains(NumberTypes, n.Type.Value) {
			c.errorf(n.Type.Range, "Number type does not match the number",
				"%s is a %s number in %s, not %s. Set type = %q.", n.E164.Value, typeWords(info.Types), info.Region, n.Type.Value, info.Types[0])
		}
	}
}

// checkNumberUse runs after the flows: every number must be used by one
// flow at most, and a number used by none is a warning (S16).
func (c *checker) checkNumberUse() {
	usedAt := map[string]hcl.Range{}
	for _, f := range c.m.Config.Flows {
		for _, ref := range f.Numbers {
			if !ref.IsValid() {
				continue
			}
			if _, ok := resolve(c, ref, "number", c.m.Numbers, "numbers"); !ok {
				continue
			}
			if owner, ok := c.m.NumberFlow[ref.Name]; ok {
				if owner == f.Name {
					c.errorf(ref.Range, "Number listed twice", "%s is already listed in this flow's numbers. Remove one.", ref)
				} else {
					c.errorf(ref.Range, "Number used by two flows",
						"%s is already answered by flow %q (%s). A call to a number runs exactly one flow; remove it from one of them.", ref, owner, usedAt[ref.Name])
				}
				continue
			}
			c.m.NumberFlow[ref.Name] = f.Name
			usedAt[ref.Name] = ref.Range
		}
	}
	for _, n := range c.m.Config.Numbers {
		if c.m.Numbers[n.Name] != n {
			continue
		}
		if _, ok := c.m.NumberFlow[n.Name]; !ok && !c.m.CustomCallerIDs[n.Name] {
			c.warnf(n.NameRange, "Number is not used by any flow",
				"Calls to number.%s will be rejected, because no flow answers it (S16). Add it to a flow's numbers, or remove the block to release the number.", n.Name)
		}
	}
}

func typeWords(types []string) string {
	if len(types) == 2 {
		return types[0] + " or " + types[1]
	}
	return types[0]
}
