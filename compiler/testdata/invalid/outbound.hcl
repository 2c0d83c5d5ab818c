organization {
  country = "US"
  outbound {
    blocked_countries = [
      "KP",
      "CN", # China is refused anyway: listing it is redundant, not wrong
      "XX", # ERROR: Invalid country
      "kp", # ERROR: Invalid country
      "KP", # ERROR: Country blocked twice
    ]
    block_premium = "yes" # ERROR: Incorrect value type
  }
  outbound { # ERROR: Duplicate outbound block
  }
}
