flow "support" {
  description = "Toll-free support line: a menu, then billing or technical support"
  numbers     = [number.support]
  start       = announce.welcome

  announce "welcome" {
    play = "../audio/welcome.wav"
    next = ivr.main
  }

  ivr "main" {
    say = "For billing, press 1. For technical support, press 2. To leave a message, press 0."
    key "1" { next = transfer_group.billing }
    key "2" { next = transfer_group.tech }
    key "0" { next = voicemail.general }
    on_timeout = transfer_group.tech
  }

  # Billing agents are rung one at a time, in the order they logged in.
  transfer_group "billing" {
    group          = group.billing
    ring           = "sequential"
    ring_timeout   = 15
    record         = true
    on_timeout     = voicemail.general
    on_unavailable = voicemail.general
    on_all_busy    = voicemail.general
  }

  # Every technical agent's phone rings at once.
  transfer_group "tech" {
    group          = group.tech
    ring           = "parallel"
    ring_timeout   = 20
    record         = true
    on_timeout     = voicemail.general
    on_unavailable = voicemail.general
    on_all_busy    = voicemail.general
  }

  voicemail "general" {
    say        = "Nobody can take your call right now. Please leave a message after the tone, and press the hash key when you are done."
    max_length = 120
    timeout    = 150
    on_timeout = announce.goodbye
  }

  announce "goodbye" {
    say = "We did not hear a message. Goodbye."
  }
}
