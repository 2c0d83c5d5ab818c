organization {
  name               = "Reseller Inc"
  country            = "USA"   # ERROR: Invalid country
  currency           = "usd"   # ERROR: Invalid currency
  partner            = true
  support_number     = number.support # ERROR: Reference to undeclared number
}

credits {
  auto_recharge { # ERROR: Auto-recharge is not available to partner organisations
    threshold = 10
    amount    = 0 # ERROR: Auto-recharge amount is zero
  }
}

recordings {
  plan         = "unlimited" # ERROR: Invalid recording plan
  delete_after = "1y"        # ERROR: Invalid retention period
}
