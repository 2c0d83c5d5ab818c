# Every state kind, with every connection present in one flow and absent
# in another, so that the golden disassembly shows every branch.
number "one" {
  e164 = "+14155550100"
  type = "local"
}

number "two" {
  e164 = "+14155550101"
  type = "local"
}

user "ann" {
}

group "team" {
  members = [user.ann]
}

flow "all_connected" {
  numbers = [number.one]
  start   = announce.hello

  announce "hello" {
    say  = "Hello."
    next = ivr.menu
  }

  ivr "menu" {
    say     = "Press 1, 2, 3 or star."
    timeout = 7
    key "1" { next = transfer_user.ann }
    key "2" { next = transfer_group.team }
    key "3" { next = voicemail.box }
    key "*" { next = announce.bye }
    on_timeout = announce.bye
  }

  transfer_user "ann" {
    user         = user.ann
    ring_timeout = 10
    record       = true
    queue {
      max_waiting = 2
      say         = "Please hold."
      music       = "https://example.com/hold.wav"
      repeat      = 4
    }
    on_timeout     = voicemail.box
    on_unavailable = transfer_group.team
    on_busy        = announce.bye
  }

  transfer_group "team" {
    group          = group.team
    ring           = "sequential"
    ring_timeout   = 12
    on_timeout     = voicemail.box
    on_unavailable = voicemail.box
    on_all_busy    = announce.bye
  }

  voicemail "box" {
    play       = "https://example.com/leave-a-message.wav"
    max_length = 30
    timeout    = 45
    on_timeout = announce.bye
  }

  announce "bye" {
    say = "Goodbye."
  }
}

flow "nothing_connected" {
  numbers = [number.two]
  start   = ivr.menu

  ivr "menu" {
    say = "Press 1 or 2."
    key "1" { next = transfer_user.ann }
    key "2" { next = transfer_group.team }
  }

  transfer_user "ann" {
    user = user.ann
    queue {
      max_waiting = 1
    }
  }

  transfer_group "team" {
    group = group.team
  }
}

number "three" {
  e164 = "+14155550102"
  type = "local"
}

flow "voicemail_only" {
  numbers = [number.three]
  start   = voicemail.box

  voicemail "box" {
  }
}
