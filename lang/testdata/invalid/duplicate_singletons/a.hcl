organization {
  name = "Acme"
}

recordings {
  plan = "free"
}

credits {
  auto_recharge {
    threshold = 1
    amount    = 5
  }
  auto_recharge { # ERROR: Duplicate auto_recharge block
    threshold = 2
    amount    = 5
  }
}
