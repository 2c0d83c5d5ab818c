number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
}

group "sales" {
  members = [user.alice]
}

flow "support" {
  numbers = [number.main]
  start   = announce.a
  announce "a" {
    say = "A."
  }
}
