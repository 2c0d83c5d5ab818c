flow "executive" {
  description = "The CEO's line: ring Grace, then take a message"
  numbers     = [number.executive]
  start       = transfer_user.grace
  enabled     = true

  transfer_user "grace" {
    user           = user.grace
    ring_timeout   = 30
    on_timeout     = voicemail.grace
    on_unavailable = voicemail.grace
    on_busy        = voicemail.grace
  }

  voicemail "grace" {
    say        = "You have reached Grace Hopper-Lee. Please leave a message."
    max_length = 60
  }
}
