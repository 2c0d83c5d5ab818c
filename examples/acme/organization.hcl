# Acme Corporation's telephony, kept in Git and applied with callflow.

organization {
  name               = "Acme Corporation"
  country            = "US"
  currency           = "USD"
  partner            = false
  managed_by_partner = false
  # Callbacks to a user's custom caller ID reach this number (S26).
  support_number = number.support
}

credits {
  # Buy 50 credits whenever the balance falls below 10 (S4).
  auto_recharge {
    enabled   = true
    threshold = 10
    amount    = 50
  }
}

recordings {
  plan         = "50k" # 50,000 minutes for 25 credits a month (S7, S8)
  delete_after = "6mo" # recordings older than six months are deleted (S9)
}
