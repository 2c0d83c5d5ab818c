number "main" { # ERROR: Missing required argument
  type = "local"
}

credits {
  auto_recharge { # ERROR: Missing required argument
    threshold = 10
  }
}

flow "f" {
  transfer_group "g" { # ERROR: Missing required argument
    ring = "parallel"
  }
  ivr "menu" {
    say = "Press 1."
    key "1" {} # ERROR: Missing required argument
  }
}
