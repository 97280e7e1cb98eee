# pragma version ~=0.4.3
"""
@title RevertProbe tests
@notice The probe fails in each promised way; the Python decoder tests rely on it.
"""

from .interfaces import IVm

interface RevertProbe:
    def revert_with_reason(): nonpayable
    def revert_without_data(): nonpayable
    def revert_with_panic(code: uint256): nonpayable
    def revert_with_data(data: Bytes[256]): nonpayable
    def overflow(): nonpayable

VM: constant(IVm) = IVm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D)

probe: RevertProbe


@external
def setUp():
    self.probe = RevertProbe(extcall VM.deployCode("RevertProbe.vy"))


@external
def test_revert_with_reason():
    extcall VM.expectRevert(b"revert_probe: always reverts")
    extcall self.probe.revert_with_reason()


@external
def test_revert_with_panic_carries_the_code():
    extcall VM.expectRevert(abi_encode(convert(17, uint256), method_id=method_id("Panic(uint256)")))
    extcall self.probe.revert_with_panic(17)


@external
def test_revert_with_data_is_verbatim():
    extcall VM.expectRevert(b"\xde\xad\xbe\xef")
    extcall self.probe.revert_with_data(b"\xde\xad\xbe\xef")


@external
def test_revert_without_data_and_overflow_fail():
    success: bool = raw_call(self.probe.address, method_id("revert_without_data()"), revert_on_failure=False)
    assert not success
    success = raw_call(self.probe.address, method_id("overflow()"), revert_on_failure=False)
    assert not success
