"""FSM states of the multi-step dialogs (kept in Redis, so any bot process can continue them)."""

from aiogram.fsm.state import State, StatesGroup


class LinkAccount(StatesGroup):
    handle = State()  # data: platform


class Withdraw(StatesGroup):
    asset = State()
    amount = State()  # data: asset
    confirm = State()  # data: asset, amount, nonce


class AdminDialog(StatesGroup):
    reject_video_reason = State()  # data: target_id (the video)
    reject_payout_reason = State()  # data: target_id (the payout)
    reverse_hold_reason = State()  # data: target_id (the hold)
    reverse_holds_reason = State()  # data: target_id (a hold; every open hold of its creator)
    user_lookup = State()
    broadcast_text = State()
    broadcast_confirm = State()  # data: text, nonce


class CampaignSetup(StatesGroup):
    """A new campaign, one field per step (data: the fields so far, by name)."""

    name = State()
    rate = State()
    platforms = State()
    tags = State()
    min_views = State()
    cap = State()
    min_account_age_days = State()
    min_followers = State()
    starts = State()
    ends = State()
    confirm = State()  # data: every field, nonce


class CampaignEdit(StatesGroup):
    value = State()  # data: campaign_id, field


class CampaignFund(StatesGroup):
    amount = State()  # data: campaign_id
    confirm = State()  # data: campaign_id, amount, nonce


class CampaignClose(StatesGroup):
    confirm = State()  # data: campaign_id, nonce
