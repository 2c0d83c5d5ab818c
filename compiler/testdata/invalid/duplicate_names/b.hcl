number "main" { # ERROR: Duplicate number name
  e164 = "+14155550101"
  type = "local"
}

user "alice" { # ERROR: Duplicate user name
}

group "sales" { # ERROR: Duplicate group name
  members = [user.alice]
}

flow "support" { # ERROR: Duplicate flow name # WARNING: Flow has no numbers
  start = announce.a
  announce "a" {
    say = "A."
  }
}
