rates {
  number_monthly = {
    "US/local"   = 1.5
    "USA/local"  = 1 # ERROR: Invalid rate key
    "US/landline" = 1 # ERROR: Invalid rate key
    "CN/local"   = 1 # ERROR: China is not priced
  }
  incoming_per_minute = {
    toll_free = 0.04
    premium   = 1 # ERROR: Invalid rate key
  }
  outgoing_per_minute = {
    GB  = 0.05
    "GB/mobile" = 0.12
    "*/premium_rate" = 1.5
    "GB/landline" = 0.1 # ERROR: Invalid rate key
    "XX/mobile" = 0.1 # ERROR: Invalid rate key
    "CN/mobile" = 0.1 # ERROR: China is not priced
    CN  = 0.05 # ERROR: China is not priced
    "*" = -1 # ERROR: Invalid amount
  }
}
