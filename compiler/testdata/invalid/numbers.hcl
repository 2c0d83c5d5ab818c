number "ok" {
  e164 = "+14155550100"
  type = "local"
}

number "unused" { # WARNING: Number is not used by any flow
  e164 = "+14155550101"
  type = "mobile"
}

number "punctuated" {
  e164 = "+1 (415) 555-0102" # ERROR: Invalid phone number
  type = "local"
}

number "nonexistent" {
  e164 = "+19995550100" # ERROR: Invalid phone number
  type = "local"
}

number "beijing" {
  e164 = "+861012345678" # ERROR: Numbers in China are not supported
  type = "local"
}

number "tollfree" {
  e164 = "+18005550199"
  type = "local" # ERROR: Number type does not match the number
}

number "london" {
  e164 = "+442071838750"
  type = "landline" # ERROR: Invalid number type
}

number "premium" {
  e164 = "+19005550100" # ERROR: Invalid phone number
  type = "toll_free"
}

number "again" {
  e164 = "+14155550100" # ERROR: Number declared twice
  type = "local"
}

flow "support" {
  numbers = [number.ok, number.punctuated, number.nonexistent, number.beijing, number.tollfree, number.london, number.again, number.premium, number.missing] # ERROR: Reference to undeclared number
  start   = announce.a
  announce "a" {
    say = "A."
  }
}

flow "sales" {
  numbers = [user.alice] # ERROR: Not a number
  start   = announce.a
  announce "a" {
    say = "A."
  }
}
