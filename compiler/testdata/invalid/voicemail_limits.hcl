number "main" {
  e164 = "+14155550100"
  type = "local"
}

flow "support" {
  numbers = [number.main]
  start   = voicemail.long
  voicemail "long" {
    max_length = 121 # ERROR: Voicemail longer than two minutes
    on_timeout = voicemail.short
  }
  voicemail "short" {
    max_length = 60
    timeout    = 30 # WARNING: Voicemail timeout cuts messages short
    on_timeout = voicemail.zero
  }
  voicemail "zero" {
    max_length = 0 # ERROR: Voicemail length out of range
    timeout    = 0 # ERROR: Voicemail timeout out of range
  }
}
