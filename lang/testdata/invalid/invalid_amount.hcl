credits {
  auto_recharge {
    threshold = -1         # ERROR: Invalid amount
    amount    = 0.0000001  # ERROR: Invalid amount
  }
}
