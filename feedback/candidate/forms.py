from ..address_form import AddressForm


class AskForFeedbackForm(AddressForm):
    """Ask for a link to your feedback (by the address the companies wrote to)."""
