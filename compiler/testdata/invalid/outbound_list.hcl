organization {
  outbound {
    blocked_countries = "KP" # ERROR: Invalid blocked_countries
  }
}
