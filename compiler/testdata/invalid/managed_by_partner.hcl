organization {
  managed_by_partner = true
}

credits {
  auto_recharge { # ERROR: Auto-recharge is not available to partner organisations
    threshold = 10
    amount    = 50
  }
}
