number { # ERROR: Missing name for number
  e164 = "+14155550100"
}
