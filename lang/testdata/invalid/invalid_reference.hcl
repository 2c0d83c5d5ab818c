user "alice" {
  caller_id = "number.main" # ERROR: Invalid reference
}

group "sales" {
  members = [user.alice, user.bob[0]] # ERROR: Invalid reference
}

group "support" {
  members = user.alice # ERROR: Invalid reference list
}

flow "f" {
  start = ivr # ERROR: Invalid reference
}
