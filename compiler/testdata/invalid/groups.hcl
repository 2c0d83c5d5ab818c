number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
}

group "billing" {
  members = [user.alice, group.tech, number.main, user.zed, user.alice] # ERROR: Group members must be users # ERROR: Group members must be users # ERROR: Reference to undeclared user # ERROR: Duplicate group member
}

group "tech" { # WARNING: Group has no members
  members = []
}

flow "support" {
  numbers = [number.main]
  start   = transfer_group.a
  transfer_group "a" {
    group          = user.alice # ERROR: Not a group
    ring           = "round_robin" # ERROR: Invalid ring strategy
    on_unavailable = transfer_group.b
  }
  transfer_group "b" {
    group = group.biling # ERROR: Reference to undeclared group
  }
}
