number "main" {
  e164 = "+14155550100"
  type = "local"
}

user "alice" {
}

flow "support" {
  numbers = [number.main]
  start   = announce.a
  announce "a" {
    say     = "A."
    on_busy = announce.b # ERROR: No on_busy connection on announce
    next    = transfer_user.t
  }
  transfer_user "t" {
    user        = user.alice
    on_all_busy = voicemail.v # ERROR: No on_all_busy connection on transfer_user
    on_busy     = voicemail.v
  }
  voicemail "v" {
    say        = "Leave a message."
    next       = announce.b # ERROR: Voicemail has one exit connection
    on_timeout = announce.b
  }
  announce "b" {
    say = "B."
  }
}
