@acceptance @fallback
Feature: Choosing between cloud sources, one content request at a time
  A client that may use both the CMG and a cloud distribution point does not know which is nearer: the
  management point ranks both last (or first, where a boundary group prefers cloud sources), and the client
  "randomly selects" among them. It draws again for every content request, so one client can take one package
  from the CMG and the next from the cloud distribution point. Scenarios can pick the draw instead
  ("the client tries the cloud distribution point first"), or seed it.

  Background:
    Given a cloud distribution point created on site version 2010
    And the in-place upgrade task sequence PS100160 references these packages:
      | package  | name                     | type               | size   |
      | PS100161 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100162 | Surface drivers          | Driver package     | 600 MB |
      | PS100163 | Setup scripts            | Package            | 20 MB  |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Run setup scripts        | Run Command Line         | PS100163 | 1 minute   |
      | Upgrade Operating System | Upgrade Operating System | PS100161 | 40 minutes |
      | Apply drivers            | Run Command Line         | PS100162 | 2 minutes  |
    And the packages are distributed to the CMG and the cloud distribution point
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"

  @behaviour:B-20
  Scenario: Each content request draws the order of the cloud sources afresh
    Given 10 internet clients named WAVE01 to WAVE10 whose random choices are seeded with 11
    When each client installs the deployment from Software Center
    Then the CMG and the cloud distribution point each serve at least 25 % of the content requests
    And some clients take different packages from different cloud sources

  @faults
  @behaviour:B-33 @behaviour:B-49
  Scenario: A scenario has the client try the cloud distribution point first
    Given an internet client CLIENT61
    And the client tries the cloud distribution point first
    And the cloud distribution point's content service fails every request with 503
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the client tries the cloud distribution point first, then the CMG
    And every download from the cloud distribution point fails with 0x801901F7
    And every package is downloaded from the CMG
