# callflow's default rate card.
#
# EXAMPLE VALUES. These are not any carrier's prices: they are here so that
# plans show a cost and the meter has a rate. Set your own in a rates block
# of your configuration; any entry you set there replaces the one below.
# Amounts are credits (1 credit = 1 USD).

rates {
  # Monthly fee of a number, by "COUNTRY/type"; "*" is any other country.
  number_monthly = {
    "US/local"     = 1.00
    "US/mobile"    = 1.50
    "US/toll_free" = 2.00
    "GB/local"     = 1.25
    "GB/mobile"    = 2.00
    "GB/toll_free" = 3.00
    "*/local"      = 2.00
    "*/mobile"     = 3.00
    "*/toll_free"  = 5.00
  }

  # Incoming calls, per started minute, by the type of the number called.
  # The organisation pays for calls to its toll-free numbers.
  incoming_per_minute = {
    local     = 0.01
    mobile    = 0.01
    toll_free = 0.03
  }

  # Outgoing calls, per started minute, by the destination: "COUNTRY/type",
  # then COUNTRY, then "*/type", then "*" (any other), the first that is
  # here. Types: local, mobile, local_or_mobile, toll_free, premium_rate,
  # shared_cost, voip, personal, uan, other. Calls to China (+86) are
  # refused by policy, not priced.
  outgoing_per_minute = {
    US               = 0.02
    CA               = 0.02
    GB               = 0.03
    "GB/mobile"      = 0.08
    "*/mobile"       = 0.15
    "*/premium_rate" = 1.00
    "*"              = 0.10
  }

  # What one credit (1 USD) is worth in the currency amounts are shown in,
  # organization { currency }. EXAMPLE exchange rates: set current ones.
  credit_value = {
    USD = 1.00
    EUR = 0.92
    GBP = 0.79
    JPY = 150.00
    CAD = 1.36
    AUD = 1.52
  }
}
