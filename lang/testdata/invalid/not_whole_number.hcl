flow "f" {
  transfer_user "a" {
    user         = user.alice
    ring_timeout = 2.5 # ERROR: Not a whole number
  }
}
