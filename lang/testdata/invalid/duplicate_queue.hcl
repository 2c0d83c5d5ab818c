flow "f" {
  transfer_user "a" {
    user = user.alice
    queue {
      max_waiting = 2
    }
    queue { # ERROR: Duplicate queue block
      max_waiting = 3
    }
  }
}
