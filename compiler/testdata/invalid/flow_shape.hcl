number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "empty" { # ERROR: Flow has no states # WARNING: Flow has no numbers
}

flow "support" {
  description = "  " # WARNING: Empty description
  numbers     = [number.main, number.main] # ERROR: Number listed twice
  start       = announce.a
  announce "a" { # ERROR: Missing prompt
    next = announce.b
  }
  announce "b" {
    say  = "B."
    play = "b.wav" # ERROR: Prompt is both spoken and played
    next = announce.c
  }
  announce "c" {
    say = "" # ERROR: Empty prompt
    next = announce.c2
  }
  announce "c2" {
    say = "C2."
  }
  announce "c2" { # ERROR: Duplicate state name
    say = "Again."
  }
  ivr "c2" { # WARNING: Unreachable state
    say = "A different kind may share the name."
  }
}
