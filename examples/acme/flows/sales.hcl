flow "sales" {
  description = "Bay Area sales line: pick a salesperson, who may queue callers"
  numbers     = [number.sales]
  start       = ivr.menu

  ivr "menu" {
    play    = "../audio/sales-menu.wav"
    timeout = 8
    key "1" { next = transfer_user.dana }
    key "2" { next = transfer_user.erik }
    key "*" { next = announce.hours }
    on_timeout = transfer_user.dana
  }

  transfer_user "dana" {
    user         = user.dana
    ring_timeout = 25
    record       = true
    queue {
      max_waiting = 5
      say         = "Dana is on another call. Please stay on the line."
      music       = "../audio/hold.wav"
      repeat      = 3
    }
    on_timeout     = voicemail.sales
    on_unavailable = voicemail.sales
    on_busy        = voicemail.sales
  }

  transfer_user "erik" {
    user         = user.erik
    ring_timeout = 20
    queue {
      max_waiting = 3
      play        = "../audio/queue.wav"
      music       = "../audio/hold.wav"
      repeat      = 2
    }
    on_timeout     = voicemail.sales
    on_unavailable = voicemail.sales
    on_busy        = voicemail.sales
  }

  announce "hours" {
    say = "Our sales team is available Monday to Friday, nine to five, Pacific time."
  }

  voicemail "sales" {
    play       = "../audio/voicemail.wav"
    max_length = 90
    on_timeout = announce.hours
  }
}
