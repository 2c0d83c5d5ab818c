# A partner organisation may keep an auto_recharge block switched off.
organization {
  partner = true
}

credits {
  auto_recharge {
    enabled   = false
    threshold = 10
    amount    = 50
  }
}
